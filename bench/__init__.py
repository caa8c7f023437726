"""``make bench``: OpenRuns against the raw Temporal client, same server, same run."""
