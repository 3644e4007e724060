# Valid, but with the warnings validation gives when a topology may be
# intended: they name what to check.
node "feed" {
  type = "weather-publisher"
  socket "out" {
    type = "PUB"
    bind = ["tcp://0.0.0.0:7100"] # WARNING: Bind on all interfaces
  }
}

node "deaf" {
  type = "weather-client"
  socket "in" { # WARNING: SUB socket with no subscription
    type    = "SUB"
    connect = node.feed.out
  }
}

# print subscribes to everything by itself (Subscribes in its schema): no warning.
node "tap" {
  type = "print"
  socket "in" {
    type    = "SUB"
    connect = node.feed.out
  }
}

node "outside" {
  type = "print"
  socket "in" {
    type      = "SUB"
    connect   = ["tcp://127.0.0.1:7199"] # WARNING: Connect to an endpoint no node binds
    subscribe = [""]
  }
}

node "plugged" {
  type = "other.thing" # WARNING: Plugin kind not checked
  socket "x" {
    type = "PAIR"
    bind = "ipc:///tmp/topo-plugged"
  }
}

plugin "other" {
  source = "./plugins/other"
}
