"""The archive on disk: its folders, the post format (render and parse), bootstrap,
retention, the run lock, atomic writes, and the run's session."""
