"""encord-warehouse: sync Encord label rows into DuckDB or Postgres."""

import logging

__version__ = "0.1.0"

# A library logs; the program that calls it says where to (the command line: connector.logs). Without
# this, Python's last resort would print a bare "sync failed" beside the exception the caller gets.
logging.getLogger("encord_warehouse").addHandler(logging.NullHandler())
