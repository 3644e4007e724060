# Publish-subscribe: the weather feed.
variable "zip" {
  type    = string
  default = "10001"
}

node "publisher" {
  type = "weather-publisher"
  socket "out" {
    type = "PUB"
    bind = ["tcp://127.0.0.1:5556", "ipc:///tmp/weather.ipc"]
  }
}

node "client" {
  type    = "weather-client"
  zip     = var.zip
  updates = 5
  socket "in" {
    type      = "SUB"
    connect   = [node.publisher.out[0]]
    subscribe = [var.zip]
  }
}
