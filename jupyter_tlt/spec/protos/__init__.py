"""Generated protobuf code (committed) and its .proto sources; see jupyter_tlt.spec.build_protos."""
