"""The pull-request flow: two commits checked out, measured interleaved, judged, posted."""
