package main

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

const defaultBaseURL = "https://production.runalloy.com"

type alloyProvider struct{ version string }

type providerModel struct {
	BaseURL types.String `tfsdk:"base_url"`
	APIKey  types.String `tfsdk:"api_key"`
}

// New returns the provider factory.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &alloyProvider{version: version} }
}

func (p *alloyProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "alloy"
	resp.Version = p.version
}

func (p *alloyProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The Alloy users API (benchmark peer).",
		Attributes: map[string]schema.Attribute{
			"base_url": schema.StringAttribute{
				Optional:    true,
				Description: "Root URL of the API; else ALLOY_BASE_URL, else " + defaultBaseURL + ".",
			},
			"api_key": schema.StringAttribute{
				Optional:    true,
				Sensitive:   true,
				Description: "API key; else ALLOY_API_KEY.",
			},
		},
	}
}

func (p *alloyProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	baseURL := firstSet(config.BaseURL, os.Getenv("ALLOY_BASE_URL"), defaultBaseURL)
	apiKey := firstSet(config.APIKey, os.Getenv("ALLOY_API_KEY"), "")
	if apiKey == "" {
		resp.Diagnostics.AddError("No Alloy API key", "Set api_key in the provider block or ALLOY_API_KEY.")
		return
	}
	c := newClient(baseURL, apiKey)
	resp.ResourceData = c
	resp.DataSourceData = c
}

func firstSet(value types.String, env, fallback string) string {
	if !value.IsNull() && !value.IsUnknown() && value.ValueString() != "" {
		return value.ValueString()
	}
	if env != "" {
		return env
	}
	return fallback
}

func (p *alloyProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{newUserResource}
}

func (p *alloyProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return nil
}
