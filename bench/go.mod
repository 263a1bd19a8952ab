module github.com/faultbox/faultbox/bench

go 1.26

require github.com/faultbox/faultbox v0.0.0

replace github.com/faultbox/faultbox => ../
