node "publisher" {
  type = "weather-publisher"
  socket "out" {
    type = "PUB"
    bind = ["tcp://*:6556"]
  }
}

node "client" {
  type    = "weather-client"
  zip     = "10001"
  updates = 5
  socket "in" {
    type      = "SUB"
    connect   = node.publisher.out
    subscribe = ["10001 "]
  }
}

node "broker" {
  type = "proxy"
  socket "frontend" {
    type = "ROUTER"
    bind = "ipc:///tmp/topo-golden-frontend"
  }
  socket "backend" {
    type = "DEALER"
    bind = "ipc:///tmp/topo-golden-backend"
  }
}

node "server" {
  type = "hello-server"
  socket "in" {
    type    = "REP"
    connect = node.broker.backend
  }
}

node "client2" {
  type = "hello-client"
  socket "out" {
    type    = "REQ"
    connect = node.broker.frontend
  }
}
