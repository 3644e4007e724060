node "a" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7100"
  } # ERROR: Missing item separator
}
