# CURVE across hosts: every -host run is a process of its own, so a key
# pair made at apply time cannot reach the other host.
host "a" {
  address = "10.0.0.1"
}
host "b" {
  address = "10.0.0.2"
}

node "far_server" {
  type = "count"
  host = "a"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:7604"]
    curve {} # ERROR: CURVE key needed on another host
  }
}

node "far_client" {
  type = "generate"
  host = "b"
  socket "out" {
    type    = "PUSH"
    connect = [node.far_server.in]
  }
}
