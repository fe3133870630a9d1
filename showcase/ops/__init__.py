"""Operations: backups, snapshots, the log sink and shipping, compiled assets."""
