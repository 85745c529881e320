// Command aisam is the command-line front end of aisam: SAM and AI-SAM segmentation,
// training, evaluation, data tools, benchmarks and the annotation server.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// command is one subcommand; files in this package register theirs in init.
type command struct {
	name    string // "bench gemm", "data inspect"
	summary string
	run     func(args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func usage() {
	fmt.Fprintln(os.Stderr, "usage: aisam <command> [flags]\n\ncommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'aisam <command> -h' for a command's flags.")
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			os.Exit(2)
		}
		return
	}
	// Two-word commands first ("bench gemm"), then one-word ("segment").
	var c *command
	rest := args[1:]
	if len(args) >= 2 {
		c = commands[args[0]+" "+args[1]]
		rest = args[2:]
	}
	if c == nil {
		c = commands[args[0]]
		rest = args[1:]
	}
	if c == nil && groupUsage(args[0]) {
		if len(args) == 1 {
			os.Exit(2)
		}
		if args[1] == "-h" || args[1] == "--help" {
			return
		}
		fmt.Fprintf(os.Stderr, "aisam %s: unknown subcommand %q\n", args[0], args[1])
		os.Exit(2)
	}
	if c == nil {
		fmt.Fprintf(os.Stderr, "aisam: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		usage()
		os.Exit(2)
	}
	if err := c.run(rest); err != nil {
		fmt.Fprintf(os.Stderr, "aisam %s: %v\n", c.name, err)
		os.Exit(1)
	}
}

// groupUsage prints the subcommands of a command group ("aisam data") and reports whether
// name is such a group.
func groupUsage(name string) bool {
	var names []string
	for n := range commands {
		if strings.HasPrefix(n, name+" ") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return false
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: aisam %s <subcommand> [flags]\n\nsubcommands:\n", name)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-18s %s\n", n, commands[n].summary)
	}
	return true
}
