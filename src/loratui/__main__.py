import sys

try:  # a Ctrl-C before loratui.cli holds its own quiet handler: one line, exit 130, no traceback
    from loratui.cli import main
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)

main()
