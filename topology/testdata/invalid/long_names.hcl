# Names are at most 64 bytes (topology.MaxNameLength).

variable "vvxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" { # ERROR: Invalid variable name
  default = 1
}

plugin "ppxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" { # ERROR: Invalid plugin name
  command = "./topo-p"
}

node "nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" { # ERROR: Invalid node name
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7061"]
  }
}

node "ok" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7064"]
  }
  socket "ssxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" { # ERROR: Invalid socket name
    type = "PULL"
    bind = ["tcp://127.0.0.1:7062"]
  }
}

# Exactly 64 characters is fine.
node "nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7063"]
  }
}
