import sys

from service.fonts import derive, derive_serif

wanted = set(sys.argv[1:]) or {"noto", "serif"}
if "noto" in wanted:
    derive()
if "serif" in wanted:
    derive_serif()
