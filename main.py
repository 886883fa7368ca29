"""crewyard's command line: python main.py --help"""

import crewyard.cli

raise SystemExit(crewyard.cli.main())
