"""kraamwacht: early warning for Dutch postnatal care (kraamzorg). Decision support, not a certified medical device."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
