# Reads two key files with file(): the export puts them in a Secret.
# The export finds the calls by syntax (FileCalls); until the language's
# file() function (the CURVE work) is in, the tests export pipeline3.hcl
# with the files found here.
locals {
  a = file("keys/sink.key")
  b = file("./keys/sink.key") # the same file, once
}
