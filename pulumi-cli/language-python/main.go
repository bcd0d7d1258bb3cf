// Command pulumi-language-python is the project's Python language host for
// the Pulumi CLI, used only where no Pulumi installation provides one.
//
// The upstream host lives in a Go module that the module proxy reachable from
// our build machines does not serve at the pinned release, so this small host
// implements the part of the LanguageRuntime protocol that `pulumi
// preview/up/refresh/destroy` need for a pip + virtualenv Python project: it
// runs the program with the upstream `pulumi-language-python-exec` script
// (shipped in the sdk/v3 module and copied beside this binary), from the
// virtual environment that Pulumi.yaml names.
//
// Contract with the engine: it is started with the engine's gRPC address as
// its last argument, prints the port it serves on as the first line of
// stdout, and exits when the engine goes away.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is stamped at build time with the CLI's release.
var version = "3.274.1"

// bailExitCode is what the exec script exits with after it has already shown
// the user an actionable message: the engine must not add its own.
const bailExitCode = 32

// How often the host checks that the engine is still there (it exits when not).
const engineHealthInterval = 2 * time.Second

func main() {
	engineAddress := ""
	for _, arg := range os.Args[1:] {
		if !strings.HasPrefix(arg, "-") {
			engineAddress = arg
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exitOnInterrupt()
	if engineAddress != "" {
		// Exit with the engine, even when it is killed without notice.
		go func() { _ = rpcutil.Healthcheck(ctx, engineAddress, engineHealthInterval, cancel) }()
	}
	host := &languageHost{engineAddress: engineAddress}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel(ctx),
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
}

// exitOnInterrupt makes SIGINT end the host even when it was started with
// SIGINT ignored (a background job, some CI runners): the engine closes its
// plugins with SIGINT and waits 5 s before killing one that does not exit.
func exitOnInterrupt() {
	if !signal.Ignored(syscall.SIGINT) {
		return // the default action already ends the process
	}
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, syscall.SIGINT)
	go func() {
		<-interrupts
		os.Exit(0)
	}()
}

func cancelChannel(ctx context.Context) chan bool {
	ch := make(chan bool)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPlugins reports none: the dynamic provider's plugin
// (pulumi-resource-pulumi-python) sits beside the CLI and needs no install.
func (h *languageHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *languageHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *languageHost) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *languageHost) GetProgramDependencies(
	context.Context, *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *languageHost) About(_ context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	python, err := pythonFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(python, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running %s --version: %w", python, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: python,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "Python "),
	}, nil
}

// InstallDependencies creates the project's virtual environment when it is
// missing and installs requirements.txt into it (what `pulumi install` does).
func (h *languageHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	info := req.GetInfo()
	venv := virtualenvDir(info)
	if venv == "" {
		return errors.New("Pulumi.yaml sets no 'virtualenv' runtime option; install dependencies yourself")
	}
	stream := &streamWriter{server: server}
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = info.GetRootDirectory()
		cmd.Stdout, cmd.Stderr = stream, stream
		return cmd.Run()
	}
	if _, err := os.Stat(filepath.Join(venv, "bin", "python")); err != nil {
		if err := run(systemPython(), "-m", "venv", venv); err != nil {
			return fmt.Errorf("creating virtual environment %s: %w", venv, err)
		}
	}
	requirements := filepath.Join(info.GetRootDirectory(), "requirements.txt")
	if _, err := os.Stat(requirements); err == nil {
		if err := run(filepath.Join(venv, "bin", "python"), "-m", "pip", "install", "-r", requirements); err != nil {
			return fmt.Errorf("installing %s: %w", requirements, err)
		}
	}
	return nil
}

type streamWriter struct {
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if err := w.server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: append([]byte(nil), p...)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Run executes the program once and reports how it ended: a non-zero exit
// becomes RunResponse.Error, the exec script's "already reported" exit code
// becomes Bail.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	python, err := pythonFor(info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	execScript := filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")

	program := req.GetProgram()
	if info != nil && info.GetProgramDirectory() != "" {
		program = filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
	}
	args := []string{
		"-u", execScript,
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engineAddress,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--parallel", fmt.Sprint(req.GetParallel()),
		"--dry_run", fmt.Sprint(req.GetDryRun()),
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization", req.GetOrganization())
	}
	if info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root_directory", info.GetRootDirectory())
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	env, err := programEnv(req, info)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == bailExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// configJSON is the stack config as the SDK reads it from PULUMI_CONFIG: a
// JSON object, also for a stack with no config at all (a nil map would be
// "null", which the SDK cannot read).
func configJSON(config map[string]string) ([]byte, error) {
	if config == nil {
		config = map[string]string{}
	}
	return json.Marshal(config)
}

// programEnv is the environment of the program: ours, plus the stack config
// the SDK reads from PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS, plus the
// virtual environment's bin folder first on PATH.
func programEnv(req *pulumirpc.RunRequest, info *pulumirpc.ProgramInfo) ([]string, error) {
	config, err := configJSON(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYTHONHOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secrets))
	if venv := virtualenvDir(info); venv != "" {
		env = append(env,
			"VIRTUAL_ENV="+venv,
			"PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	return env, nil
}

// virtualenvDir is the absolute path of the 'virtualenv' runtime option, or "".
func virtualenvDir(info *pulumirpc.ProgramInfo) string {
	if info == nil || info.GetOptions() == nil {
		return ""
	}
	value, ok := info.GetOptions().AsMap()["virtualenv"].(string)
	if !ok || value == "" {
		return ""
	}
	if filepath.IsAbs(value) {
		return filepath.Clean(value)
	}
	return filepath.Join(info.GetRootDirectory(), value)
}

// pythonFor is the interpreter that runs the program: the virtual
// environment's when Pulumi.yaml names one, else PULUMI_PYTHON_CMD or python3.
func pythonFor(info *pulumirpc.ProgramInfo) (string, error) {
	if info != nil && info.GetOptions() != nil {
		if toolchain, ok := info.GetOptions().AsMap()["toolchain"].(string); ok && toolchain != "" && toolchain != "pip" {
			return "", fmt.Errorf("this language host supports the 'pip' toolchain only, Pulumi.yaml asks for %q", toolchain)
		}
	}
	venv := virtualenvDir(info)
	if venv == "" {
		return systemPython(), nil
	}
	python := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(python); err != nil {
		return "", fmt.Errorf("the 'virtualenv' option in Pulumi.yaml is %s, but %s does not exist: "+
			"run `make setup` (or `pulumi install`) to create it", venv, python)
	}
	return python, nil
}

func systemPython() string {
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		return cmd
	}
	return "python3"
}
