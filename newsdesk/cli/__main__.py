"""`python -m newsdesk.cli`: the `newsdesk` command, as the tests and benchmarks start it."""

from newsdesk.cli import main

if __name__ == "__main__":
    main()
