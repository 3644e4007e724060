node "server" {
  type = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7601"]
    curve {
      secret_key = "not a key" # ERROR: Invalid CURVE key
    }
  }
}

node "inside" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = "inproc://secure"
    curve {} # ERROR: CURVE on an inproc socket
  }
}

node "keyed" {
  type = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7602"]
    curve {
      secret_key = "yzPxwcFmB-whu<@0No*?L2Bb/rI/@l<<5a^W82Hl"
    }
  }
}

node "wrong" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.keyed.in]
    curve {
      server_key = "reft1BE=jUOOoa{yw??j9@.a$*rL66m$TF2-k>LW" # ERROR: Wrong CURVE server key
    }
  }
}

node "plain" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://10.0.0.3:7603"] # WARNING: Plaintext bind on a network address
  }
}

node "secure_client" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.plain.in]
    curve {} # ERROR: CURVE to a plaintext socket
  }
}

node "far_server" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:7604"]
    curve {}
  }
}

node "far_client" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.far_server.in]
  }
}

node "mixed" {
  type = "generate"
  socket "out" { # ERROR: CURVE and plaintext on one socket
    type    = "PUSH"
    connect = [node.far_server.in, node.plain.in]
  }
}

node "open" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7605"]
    curve {
      secret_key = file("keys/open.key") # WARNING: Secret file readable by others
    }
  }
}

node "missing" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7606"]
    curve {
      secret_key = file("keys/none.key") # ERROR: Error in function call
    }
  }
}

node "client_outside" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.keyed.in, "tcp://192.0.2.9:7000"] # ERROR: No CURVE server key # WARNING: Connect to an endpoint no node binds
  }
}

curve {
  seed = "short" # ERROR: Invalid CURVE seed
}

node "bound_client" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7607"]
    curve {
      server_key = "lmPj7m4%xohgTFD:%4iWUzf5yfnziJa17}fo(SJV" # ERROR: CURVE server key cannot match
    }
  }
}

node "connecting_server" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.bound_client.in]
    curve {}
  }
}
