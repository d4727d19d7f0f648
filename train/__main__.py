import sys

from simedit.train.cli import main

sys.exit(main())
