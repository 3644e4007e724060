node "server" {
  type = "hello-server"
  socket "in" {
    type = "REP"
    bind = ["tcp://*:9464"] # ERROR Bind on the export's HTTP port
  }
}
