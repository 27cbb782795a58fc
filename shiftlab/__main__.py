from shiftlab.tools.cli import main

raise SystemExit(main())
