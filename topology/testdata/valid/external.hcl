# A subscriber of an external publisher (no warning-free way to say
# "external", so this fixture only checks there are no errors).
node "tap" {
  type = "print"
  socket "in" {
    type      = "SUB"
    connect   = ["tcp://127.0.0.1:9100"] # WARNING: Connect to an endpoint no node binds
    subscribe = [""]
  }
}
