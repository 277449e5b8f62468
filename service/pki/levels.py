"""The PAdES levels a result can be signed at (ETSI EN 319 142-1), without pyHanko: the
signer checks its configuration against them, the API's schemas list them."""

LEVELS = ("B-T", "B-LT", "B-LTA")
