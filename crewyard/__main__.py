"""python -m crewyard …: the same command line as `python main.py …` and the installed
`crewyard …` command, from any folder."""

import crewyard.cli

if __name__ == "__main__":
    raise SystemExit(crewyard.cli.main())
