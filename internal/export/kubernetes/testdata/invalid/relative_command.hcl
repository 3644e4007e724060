plugin "upper" { # WARNING Plugin command relative to the topology file
  command = "./bin/upper"
}
