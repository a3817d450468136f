// Package deploy holds callbacksim's deployment files, which are not Go: the
// Prometheus configuration and alerting rules (prometheus/; promcheck parses
// them with Prometheus's own packages), Grafana's provisioning and
// dashboard (grafana/) and the configuration of the docker-compose stack
// (callbacksim.compose.yaml); the repository root holds the Dockerfile and
// docker-compose.yml. Its tests hold them to the code: every metric the
// dashboard queries is exported by a live simulator, every file the compose
// stack mounts or builds from exists, every command and configuration it
// runs is one the binary accepts. docs/operations.md explains them.
package deploy
