# CURVE: in-run keys (curve {}), explicit keys, a key map, a client that binds.

node "ventilator" {
  type = "ventilator"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
    curve {}
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}

node "worker" {
  type  = "worker"
  count = 2
  socket "in" {
    type    = "PULL"
    connect = [node.ventilator.out]
  }
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.in]
    curve {
      secret_key = "Z6u@(S3u(#]1Zr!ut[bc<&[RvDWT1Z5t)&=6a>Hj"
      server_key = file("keys/sink.pub")
    }
  }
}

node "sink" {
  type = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://10.0.0.3:7558"]
    curve {
      secret_key = "yzPxwcFmB-whu<@0No*?L2Bb/rI/@l<<5a^W82Hl"
      allow      = [" >x8v1-O8GfrZY?U0[bStMP:S?:Vv#r).cI5FVa>U\n"]
    }
  }
}

node "outside" {
  type = "print"
  socket "in" {
    type    = "SUB"
    connect = ["tcp://192.0.2.1:7000", "tcp://192.0.2.2:7000"] # WARNING: Connect to an endpoint no node binds
    curve {
      server_key = {
        "tcp://192.0.2.1:7000" = "lmPj7m4%xohgTFD:%4iWUzf5yfnziJa17}fo(SJV"
        "tcp://192.0.2.2:7000" = "reft1BE=jUOOoa{yw??j9@.a$*rL66m$TF2-k>LW"
      }
    }
  }
}

# A client may bind and a server connect: the role follows the keys.
node "collector" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7559"]
    curve {
      server_key = "reft1BE=jUOOoa{yw??j9@.a$*rL66m$TF2-k>LW"
    }
  }
}

node "reporter" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.collector.in]
    curve {
      secret_key = "?PjZV&&}ubBbPcaN&h4Iq?3S3XtLS9z<}rRk>0I5"
    }
  }
}
