module github.com/aisam/aisam

go 1.26
