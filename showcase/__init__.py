"""showcase: live ballroom-dance showcase competitions, many events on one machine."""
