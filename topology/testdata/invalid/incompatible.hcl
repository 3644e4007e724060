node "pub" {
  type = "generate"
  socket "out" {
    type = "PUB"
    bind = ["tcp://127.0.0.1:7001"]
  }
}

node "puller" {
  type = "count"
  socket "in" {
    type    = "PULL"
    connect = [node.pub.out] # ERROR: Incompatible socket types
  }
}

node "req" {
  type = "hello-client"
  socket "out" {
    type    = "REQ"
    connect = ["tcp://127.0.0.1:7002"] # ERROR: Incompatible socket types
  }
}

node "req2" {
  type = "generate"
  socket "out" {
    type = "REQ"
    bind = ["tcp://127.0.0.1:7002"]
  }
}
