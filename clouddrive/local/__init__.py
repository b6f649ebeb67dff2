"""The local side: scanning the folder, ignore rules, the state database, the lock, config."""
