from makaudit.cli import main

raise SystemExit(main())
