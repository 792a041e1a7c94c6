"""Writers: each turns a record into the bytes of one format; `folder` writes them to disk."""
