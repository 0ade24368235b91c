"""The files a search folder holds: `tlt tune` and `tlt compress` write them, the lab's listing reads them.

    runs/tune/tune.db  tune.lock (while it runs)  tune.json (once it ended)  trials/trial_0000/ ...
    runs/compress/prune/  compression.json  trials/keep_0.5/ ...
"""

TRIALS = "trials"
TUNE_DB, TUNE_LOCK, TUNE_SUMMARY = "tune.db", "tune.lock", "tune.json"
TUNE_FILES = (TUNE_DB, TUNE_SUMMARY, TUNE_LOCK)
COMPRESS_SUMMARY, COMPRESS_PRUNED = "compression.json", "prune"
