# The zguide "Hello World" pair (hwserver / hwclient): REQ/REP over tcp.
#
#   go run ./cmd/topo apply examples/hello.hcl
#
# The client sends 10 requests and finishes; the server is a service and is
# stopped once the client is done.

# The seed programs bind tcp://*:PORT; these bind the loopback interface so the
# example stays local (edit the bind to serve peers on other hosts).

node "hello-server" {
  type  = "hello-server"
  reply = "World"
  work  = "0s" # the seed server sleeps 1s per request; set "1s" to see it

  socket "in" {
    type = "REP"
    bind = ["tcp://127.0.0.1:5555"]
  }
}

node "hello-client" {
  type     = "hello-client"
  message  = "Hello"
  requests = 10

  socket "out" {
    type    = "REQ"
    connect = [node.hello-server.in]
  }
}
