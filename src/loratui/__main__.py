from loratui.cli import main

main()
