node "a" {
type = "count"
  expect=3
  socket "in" {
      type = "PULL"
    bind = ["tcp://127.0.0.1:6570"]
  }
}
