# Request-reply: the zguide's Hello World.
node "server" {
  type  = "hello-server"
  reply = "World"
  work  = "1s"
  socket "in" {
    type = "REP"
    bind = "tcp://127.0.0.1:5555"
  }
}

node "client" {
  type     = "hello-client"
  requests = 10
  socket "out" {
    type    = "REQ"
    connect = node.server.in
  }
}
