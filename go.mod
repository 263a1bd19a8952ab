module github.com/faultbox/faultbox

go 1.26
