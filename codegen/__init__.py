"""Code generator for textservice: protos -> betterproto2 modules and the Jinja-rendered facade."""
