variable "port" {
  type    = number
  default = 7040
}

variable "needed" { # ERROR: No value for required variable
  type = string
}

locals {
  addr = "tcp://127.0.0.1:${var.prot}" # ERROR: Reference to undeclared input variable
}

node "a" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = [local.adr] # ERROR: Reference to undeclared local value
  }
}

node "b" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = [nodes.a.in] # ERROR: Unknown variable
  }
}
