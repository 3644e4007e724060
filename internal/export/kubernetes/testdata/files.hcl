# Reads two key files with file(): the export puts them in a Secret.
# The export finds the calls by syntax (FileCalls); the tests export
# pipeline3.hcl with the files found here (examples/multihost/
# secure-pipeline.hcl is the case of a file() the topology itself reads).
locals {
  a = file("keys/sink.key")
  b = file("./keys/sink.key") # the same file, once
}
