// Command terraform-provider-alloy is the benchmark's peer provider: a plain
// terraform-plugin-framework provider of the Alloy users API (resource
// alloy_user), used by bench/peer to time OpenTofu against the emulator.
// It is not part of the product.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
)

// Address is the provider's source address; the CLI config's dev_overrides
// (written by bench/peer) map it to the built binary.
const Address = "alloy.local/bench/alloy"

var version = "dev"

func main() {
	debug := flag.Bool("debug", false, "run with support for debuggers like delve")
	flag.Parse()
	err := providerserver.Serve(context.Background(), New(version), providerserver.ServeOpts{
		Address: Address,
		Debug:   *debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
