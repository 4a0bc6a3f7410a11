package main

import (
	"fmt"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels)
// every PRM object and pod template carries.
var recommendedLabels = []string{
	"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
	"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
}

type index struct {
	dir         string
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	pvcs        map[string]*corev1.PersistentVolumeClaim
	services    map[string]*corev1.Service
	deployments map[string]*appsv1.Deployment
	jobs        map[string]*batchv1.Job
	pdbs        map[string]*policyv1.PodDisruptionBudget
	monitors    []*monitoringv1.ServiceMonitor
	problems    []string
	// the settings of every PRM service container, for checkTopics
	topicSettings []topicUse
}

func (x *index) fail(where, format string, args ...any) {
	x.problems = append(x.problems, fmt.Sprintf("%s: %s: %s", x.dir, where, fmt.Sprintf(format, args...)))
}

func checkKustomization(dir string, bins map[string]*binary) (int, []string) {
	x := &index{dir: dir,
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		pvcs: map[string]*corev1.PersistentVolumeClaim{}, services: map[string]*corev1.Service{},
		deployments: map[string]*appsv1.Deployment{}, jobs: map[string]*batchv1.Job{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}}
	m, err := render(dir)
	if err != nil {
		return 0, []string{fmt.Sprintf("%s: kustomize build: %v", dir, err)}
	}
	schemaFailed := false
	for _, r := range m.Resources() {
		where := r.CurId().String()
		data, err := r.MarshalJSON()
		if err != nil {
			x.fail(where, "cannot serialise: %v", err)
			continue
		}
		obj, _, err := decodeStrict(data)
		if err != nil {
			x.fail(where, "schema: %v", err)
			schemaFailed = true
			continue
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			x.fail(where, "no metadata: %v", err)
			continue
		}
		x.checkMeta(where, acc, obj)
		switch o := obj.(type) {
		case *corev1.Namespace:
			continue
		case *corev1.ConfigMap:
			x.configMaps[o.Name] = o
		case *corev1.Secret:
			x.secrets[o.Name] = o
		case *corev1.PersistentVolumeClaim:
			x.pvcs[o.Name] = o
		case *corev1.Service:
			x.services[o.Name] = o
		case *appsv1.Deployment:
			x.deployments[o.Name] = o
		case *batchv1.Job:
			x.jobs[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			x.pdbs[o.Name] = o
		case *monitoringv1.ServiceMonitor:
			x.monitors = append(x.monitors, o)
		}
		if acc.GetNamespace() == "" {
			x.fail(where, "no namespace (overlays must set one)")
		}
	}
	if schemaFailed {
		// The cross-object checks would only repeat that an object is missing.
		return len(m.Resources()), x.problems
	}
	for _, name := range sortedKeys(x.deployments) {
		x.checkDeployment(x.deployments[name], bins)
	}
	for _, name := range sortedKeys(x.jobs) {
		j := x.jobs[name]
		x.checkPodSpec("Job/"+name, &j.Spec.Template, nil)
	}
	for _, name := range sortedKeys(x.services) {
		x.checkService(x.services[name])
	}
	for _, name := range sortedKeys(x.pvcs) {
		c := x.pvcs[name]
		if len(c.Spec.AccessModes) == 0 {
			x.fail("PersistentVolumeClaim/"+name, "no accessModes")
		}
		if q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.Sign() <= 0 {
			x.fail("PersistentVolumeClaim/"+name, "no storage request")
		}
	}
	for _, name := range sortedKeys(x.configMaps) {
		for k := range x.configMaps[name].Data {
			for _, e := range validation.IsConfigMapKey(k) {
				x.fail("ConfigMap/"+name, "key %q: %s", k, e)
			}
		}
	}
	for _, name := range sortedKeys(x.pdbs) {
		p := x.pdbs[name]
		if len(x.podsSelectedBy(p.Spec.Selector)) == 0 {
			x.fail("PodDisruptionBudget/"+name, "its selector matches no pod template")
		}
		if p.Spec.MinAvailable != nil && p.Spec.MaxUnavailable != nil {
			x.fail("PodDisruptionBudget/"+name, "sets both minAvailable and maxUnavailable")
		}
	}
	for _, sm := range x.monitors {
		for _, ep := range sm.Spec.Endpoints {
			found := false
			for _, s := range x.services {
				if selectorMatches(&sm.Spec.Selector, s.Labels) {
					for _, p := range s.Spec.Ports {
						found = found || p.Name == ep.Port
					}
				}
			}
			if !found {
				x.fail("ServiceMonitor/"+sm.Name, "no selected Service has a port named %q", ep.Port)
			}
		}
	}
	x.checkTopics()
	return len(m.Resources()), x.problems
}

func (x *index) checkMeta(where string, acc metav1.Object, obj any) {
	name := acc.GetName()
	var errs []string
	if _, ok := obj.(*corev1.Service); ok {
		errs = validation.IsDNS1035Label(name)
	} else {
		errs = validation.IsDNS1123Subdomain(name)
	}
	for _, e := range errs {
		x.fail(where, "metadata.name %q: %s", name, e)
	}
	// The full recommended set on what operators look at (workloads, Services, volumes, …);
	// part-of and managed-by on everything (ConfigMaps, Secrets, the Namespace).
	switch obj.(type) {
	case *corev1.ConfigMap, *corev1.Secret, *corev1.Namespace:
		x.checkLabels(where+" metadata.labels", acc.GetLabels(), false)
		for _, k := range []string{"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"} {
			if acc.GetLabels()[k] == "" {
				x.fail(where, "missing label %s", k)
			}
		}
	default:
		x.checkLabels(where+" metadata.labels", acc.GetLabels(), true)
	}
	for k := range acc.GetAnnotations() {
		for _, e := range validation.IsQualifiedName(k) {
			x.fail(where, "annotation key %q: %s", k, e)
		}
	}
}

func (x *index) checkLabels(where string, l map[string]string, recommended bool) {
	for k, v := range l {
		for _, e := range validation.IsQualifiedName(k) {
			x.fail(where, "label key %q: %s", k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			x.fail(where, "label %s=%q: %s", k, v, e)
		}
	}
	if !recommended {
		return
	}
	for _, k := range recommendedLabels {
		if l[k] == "" {
			x.fail(where, "missing recommended label %s", k)
		}
	}
}

type podRef struct {
	owner  string
	labels map[string]string
	spec   *corev1.PodSpec
}

func (x *index) podsSelectedBy(sel *metav1.LabelSelector) []podRef {
	var out []podRef
	for _, name := range sortedKeys(x.deployments) {
		d := x.deployments[name]
		if selectorMatches(sel, d.Spec.Template.Labels) {
			out = append(out, podRef{"Deployment/" + name, d.Spec.Template.Labels, &d.Spec.Template.Spec})
		}
	}
	for _, name := range sortedKeys(x.jobs) {
		j := x.jobs[name]
		if selectorMatches(sel, j.Spec.Template.Labels) {
			out = append(out, podRef{"Job/" + name, j.Spec.Template.Labels, &j.Spec.Template.Spec})
		}
	}
	return out
}

func selectorMatches(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return false
	}
	return s.Matches(labels.Set(l))
}

func (x *index) checkService(s *corev1.Service) {
	where := "Service/" + s.Name
	if len(s.Spec.Selector) == 0 {
		x.fail(where, "no selector")
		return
	}
	pods := x.podsSelectedBy(&metav1.LabelSelector{MatchLabels: s.Spec.Selector})
	if len(pods) == 0 {
		x.fail(where, "its selector %v matches no pod template", s.Spec.Selector)
	}
	seen := map[string]bool{}
	for _, p := range s.Spec.Ports {
		if p.Name == "" {
			x.fail(where, "port %d has no name", p.Port)
		}
		if seen[p.Name] {
			x.fail(where, "port name %q used twice", p.Name)
		}
		seen[p.Name] = true
		for _, e := range validation.IsValidPortNum(int(p.Port)) {
			x.fail(where, "port %q: %s", p.Name, e)
		}
		if p.TargetPort.Type == intstr.String {
			for _, pod := range pods {
				if containerPort(pod.spec, p.TargetPort.StrVal) == nil {
					x.fail(where, "targetPort %q is not a container port of %s", p.TargetPort.StrVal, pod.owner)
				}
			}
		}
	}
}

func containerPort(spec *corev1.PodSpec, name string) *corev1.ContainerPort {
	for i := range spec.Containers {
		for j := range spec.Containers[i].Ports {
			if spec.Containers[i].Ports[j].Name == name {
				return &spec.Containers[i].Ports[j]
			}
		}
	}
	return nil
}

// checkPodSpec: references, probes, resources and the security context every PRM pod must have.
// env, if not nil, receives every container's environment (resolved from ConfigMaps).
func (x *index) checkPodSpec(owner string, t *corev1.PodTemplateSpec, env map[string]map[string]string) {
	spec := &t.Spec
	x.checkLabels(owner+" pod template labels", t.Labels, true)
	if len(spec.Containers) == 0 {
		x.fail(owner, "no containers")
	}
	volumes := map[string]*corev1.Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			cm := x.configMaps[v.ConfigMap.Name]
			if cm == nil {
				x.fail(owner, "volume %s: ConfigMap %q is not in the manifests", v.Name, v.ConfigMap.Name)
			}
			for _, it := range v.ConfigMap.Items {
				if cm != nil && !hasKey(cm, it.Key) {
					x.fail(owner, "volume %s: ConfigMap %q has no key %q", v.Name, v.ConfigMap.Name, it.Key)
				}
			}
		case v.Secret != nil:
			if s := x.secrets[v.Secret.SecretName]; s != nil {
				for _, it := range v.Secret.Items {
					if _, ok := s.Data[it.Key]; !ok {
						if _, ok := s.StringData[it.Key]; !ok {
							x.fail(owner, "volume %s: Secret %q has no key %q", v.Name, v.Secret.SecretName, it.Key)
						}
					}
				}
			} // else: created outside the manifests (production secrets); documented.
		case v.PersistentVolumeClaim != nil:
			if x.pvcs[v.PersistentVolumeClaim.ClaimName] == nil {
				x.fail(owner, "volume %s: PersistentVolumeClaim %q is not in the manifests", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
	ps := spec.SecurityContext
	if ps == nil {
		ps = &corev1.PodSecurityContext{}
	}
	names := map[string]bool{}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		where := fmt.Sprintf("%s container %s", owner, c.Name)
		for _, e := range validation.IsDNS1123Label(c.Name) {
			x.fail(where, "name: %s", e)
		}
		if names[c.Name] {
			x.fail(where, "container name used twice")
		}
		names[c.Name] = true
		x.checkImage(where, c.Image)
		portNames := map[string]bool{}
		for _, p := range c.Ports {
			for _, e := range validation.IsValidPortName(p.Name) {
				x.fail(where, "port name %q: %s", p.Name, e)
			}
			if portNames[p.Name] {
				x.fail(where, "port name %q used twice", p.Name)
			}
			portNames[p.Name] = true
			for _, e := range validation.IsValidPortNum(int(p.ContainerPort)) {
				x.fail(where, "containerPort %d: %s", p.ContainerPort, e)
			}
		}
		for kind, p := range map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
			if p != nil {
				x.checkProbe(where+" "+kind, c, p)
			}
		}
		for _, m := range c.VolumeMounts {
			if volumes[m.Name] == nil {
				x.fail(where, "volumeMount %q names no volume", m.Name)
			}
			if !path.IsAbs(m.MountPath) {
				x.fail(where, "mountPath %q is not absolute", m.MountPath)
			}
		}
		// resources
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if !hasReq {
				x.fail(where, "no %s request", r)
			}
			if !hasLim {
				x.fail(where, "no %s limit", r)
			}
			if hasReq && hasLim && req.Cmp(lim) > 0 {
				x.fail(where, "%s request %s is above its limit %s", r, req.String(), lim.String())
			}
		}
		// security context (restricted Pod Security Standard and more)
		cs := c.SecurityContext
		if cs == nil {
			cs = &corev1.SecurityContext{}
		}
		if !isTrue(cs.RunAsNonRoot) && !isTrue(ps.RunAsNonRoot) {
			x.fail(where, "runAsNonRoot is not true")
		}
		uid := cs.RunAsUser
		if uid == nil {
			uid = ps.RunAsUser
		}
		if uid == nil || *uid == 0 {
			x.fail(where, "runAsUser must be set to a non-zero numeric uid")
		}
		if !isTrue(cs.ReadOnlyRootFilesystem) {
			x.fail(where, "readOnlyRootFilesystem is not true")
		}
		if cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
			x.fail(where, "allowPrivilegeEscalation is not false")
		}
		if isTrue(cs.Privileged) {
			x.fail(where, "privileged")
		}
		dropAll := false
		if cs.Capabilities != nil {
			for _, d := range cs.Capabilities.Drop {
				dropAll = dropAll || d == "ALL"
			}
			if len(cs.Capabilities.Add) > 0 {
				x.fail(where, "adds capabilities %v", cs.Capabilities.Add)
			}
		}
		if !dropAll {
			x.fail(where, "capabilities.drop does not contain ALL")
		}
		seccomp := cs.SeccompProfile
		if seccomp == nil {
			seccomp = ps.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			x.fail(where, "seccompProfile is not RuntimeDefault (or Localhost)")
		}
		// environment
		vars := map[string]string{}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				cm := x.configMaps[ef.ConfigMapRef.Name]
				if cm == nil {
					x.fail(where, "envFrom: ConfigMap %q is not in the manifests", ef.ConfigMapRef.Name)
					continue
				}
				for k, v := range cm.Data {
					vars[ef.Prefix+k] = v
				}
			}
		}
		for _, e := range c.Env {
			vars[e.Name] = e.Value
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				ref := e.ValueFrom.ConfigMapKeyRef
				cm := x.configMaps[ref.Name]
				switch {
				case cm == nil:
					x.fail(where, "env %s: ConfigMap %q is not in the manifests", e.Name, ref.Name)
				case !hasKey(cm, ref.Key):
					x.fail(where, "env %s: ConfigMap %q has no key %q", e.Name, ref.Name, ref.Key)
				default:
					vars[e.Name] = cm.Data[ref.Key]
				}
			}
		}
		if env != nil {
			env[c.Name] = vars
		}
	}
}

func (x *index) checkImage(where, image string) {
	if image == "" {
		x.fail(where, "no image")
		return
	}
	if msg := imagePinProblem(image); msg != "" {
		x.fail(where, "image %s: %s", image, msg)
	}
}

func (x *index) checkProbe(where string, c *corev1.Container, p *corev1.Probe) {
	handlers := 0
	if p.Exec != nil {
		handlers++
	}
	if p.HTTPGet != nil {
		handlers++
		x.checkPortRef(where, c, p.HTTPGet.Port)
	}
	if p.TCPSocket != nil {
		handlers++
		x.checkPortRef(where, c, p.TCPSocket.Port)
	}
	if p.GRPC != nil {
		handlers++
		ok := false
		for _, cp := range c.Ports {
			ok = ok || cp.ContainerPort == p.GRPC.Port
		}
		if !ok {
			x.fail(where, "grpc port %d is not a container port", p.GRPC.Port)
		}
	}
	if handlers != 1 {
		x.fail(where, "needs exactly one handler (exec, httpGet, tcpSocket or grpc), has %d", handlers)
	}
}

func (x *index) checkPortRef(where string, c *corev1.Container, port intstr.IntOrString) {
	for _, cp := range c.Ports {
		if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
			return
		}
	}
	x.fail(where, "port %s is not a container port", port.String())
}

// checkDeployment: the generic pod checks, plus PRM's rules for its service Deployments.
func (x *index) checkDeployment(d *appsv1.Deployment, bins map[string]*binary) {
	owner := "Deployment/" + d.Name
	if d.Spec.Selector == nil || !selectorMatches(d.Spec.Selector, d.Spec.Template.Labels) {
		x.fail(owner, "spec.selector does not match the pod template's labels")
	}
	env := map[string]map[string]string{}
	x.checkPodSpec(owner, &d.Spec.Template, env)
	spec := &d.Spec.Template.Spec
	for i := range spec.Containers {
		c := &spec.Containers[i]
		bin := bins[c.Name]
		if bin == nil {
			continue // not a PRM service container
		}
		where := fmt.Sprintf("%s container %s", owner, c.Name)
		x.checkServiceContainer(where, d, c, bin, env[c.Name])
	}
}

func (x *index) checkServiceContainer(where string, d *appsv1.Deployment, c *corev1.Container, bin *binary, env map[string]string) {
	spec := &d.Spec.Template.Spec
	// 1. every setting exists in the binary's --help, with a value it accepts
	values := map[string]string{} // flag name -> effective value (flag wins over env)
	for k, v := range env {
		if !strings.HasPrefix(k, "PRM_") {
			continue
		}
		s := bin.byEnv[k]
		if s == nil {
			x.fail(where, "environment variable %s is not a setting of %s (see %s --help)", k, bin.name, bin.name)
			continue
		}
		if err := s.checkValue(v); err != nil {
			x.fail(where, "%s: %v", k, err)
		}
		values[s.flag] = v
	}
	if len(c.Command) > 0 {
		x.fail(where, "sets command; the image's ENTRYPOINT is the service binary, use args")
	}
	for _, a := range c.Args {
		if !strings.HasPrefix(a, "--") {
			x.fail(where, "argument %q is not a --flag=value", a)
			continue
		}
		name, v, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		s := bin.byFlag[name]
		if s == nil {
			x.fail(where, "flag --%s is not a flag of %s (see %s --help)", name, bin.name, bin.name)
			continue
		}
		if !hasValue && s.boolean {
			v = "true"
		} else if !hasValue {
			x.fail(where, "flag --%s needs =value", name)
			continue
		}
		if err := s.checkValue(v); err != nil {
			x.fail(where, "--%s: %v", name, err)
		}
		values[name] = v
	}
	for _, k := range []string{"data-dir", "kafka-brokers", "kafka-group"} {
		if values[k] == "" {
			x.fail(where, "--%s (or %s) is required and not set", k, bin.byFlag[k].env)
		}
	}
	if !strings.HasPrefix(c.Image[strings.LastIndex(c.Image, ":")+1:], bin.version) && !strings.Contains(c.Image, "@") {
		x.fail(where, "image %q: tag does not start with the binary's version %s", c.Image, bin.version)
	}
	if v := d.Spec.Template.Labels["app.kubernetes.io/version"]; v != "" && v != bin.version {
		x.fail(where, "label app.kubernetes.io/version=%s but %s --version is %s", v, bin.name, bin.version)
	}
	// 2. files and directories named by settings live on the right volumes
	mountFor := func(p string) *corev1.Volume {
		var best *corev1.VolumeMount
		for i := range c.VolumeMounts {
			m := &c.VolumeMounts[i]
			if p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
				if best == nil || len(m.MountPath) > len(best.MountPath) {
					best = m
				}
			}
		}
		if best == nil {
			return nil
		}
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == best.Name {
				return &spec.Volumes[i]
			}
		}
		return nil
	}
	usesPVC := false
	if dir := values["data-dir"]; dir != "" {
		v := mountFor(dir)
		if v == nil || v.PersistentVolumeClaim == nil {
			x.fail(where, "--data-dir %s is not on a PersistentVolumeClaim volume (read-only root filesystem; data must survive restarts)", dir)
		} else {
			usesPVC = true
		}
	}
	for _, k := range []string{"jwt-secret-file", "jwt-public-key-file"} {
		if f := values[k]; f != "" {
			v := mountFor(f)
			if v == nil || (v.Secret == nil && v.ConfigMap == nil && v.Projected == nil) {
				x.fail(where, "--%s %s is not on a mounted Secret", k, f)
			} else if v.Secret != nil && len(v.Secret.Items) > 0 {
				found := false
				for _, it := range v.Secret.Items {
					found = found || path.Join(mountPathOf(c, v.Name), it.Path) == f
				}
				if !found {
					x.fail(where, "--%s %s: no item of Secret volume %s has that path", k, f, v.Name)
				}
			}
		}
	}
	if values["jwt-secret"] != "" {
		x.fail(where, "--jwt-secret puts the secret in the pod spec or a ConfigMap; mount it and use --jwt-secret-file")
	}
	// 3. SQLite: one writer
	if usesPVC {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			x.fail(where, "SQLite on a PersistentVolumeClaim: replicas must be 1")
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			x.fail(where, "SQLite on a PersistentVolumeClaim: strategy must be Recreate (a rolling update would run two pods on one database)")
		}
	}
	// 4. ports, probes, drain
	grpcPort := containerPort(spec, "grpc")
	metricsPort := containerPort(spec, "metrics")
	if grpcPort == nil {
		x.fail(where, "no container port named grpc")
	} else if p := listenPort(values["grpc-listen"]); p != grpcPort.ContainerPort {
		x.fail(where, "grpc-listen %q does not listen on the grpc port %d", values["grpc-listen"], grpcPort.ContainerPort)
	}
	if metricsPort == nil {
		x.fail(where, "no container port named metrics")
	} else if p := listenPort(values["metrics-listen"]); p != metricsPort.ContainerPort {
		x.fail(where, "metrics-listen %q does not listen on the metrics port %d", values["metrics-listen"], metricsPort.ContainerPort)
	}
	// The plaintext health port (--health-listen), when the container has one, is what probes use:
	// it keeps answering when mutual TLS is on for the grpc port.
	healthPort := containerPort(spec, "health")
	probePort := grpcPort
	if healthPort != nil {
		probePort = healthPort
		if p := listenPort(values["health-listen"]); p != healthPort.ContainerPort {
			x.fail(where, "health-listen %q does not listen on the health port %d", values["health-listen"], healthPort.ContainerPort)
		}
	}
	for _, l := range []string{"grpc-listen", "metrics-listen", "health-listen"} {
		if h, _, err := net.SplitHostPort(values[l]); err == nil && (h == "127.0.0.1" || h == "localhost" || h == "::1") {
			x.fail(where, "%s %q listens on loopback only; probes and Services cannot reach it", l, values[l])
		}
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.GRPC == nil {
		x.fail(where, "readinessProbe must be a native grpc probe (grpc.health.v1 reflects Kafka)")
	} else if probePort != nil && c.ReadinessProbe.GRPC.Port != probePort.ContainerPort {
		x.fail(where, "readinessProbe grpc port %d is not the %s port", c.ReadinessProbe.GRPC.Port, probePort.Name)
	} else if s := c.ReadinessProbe.GRPC.Service; s != nil && *s != "" {
		x.fail(where, "readinessProbe grpc service %q: the server answers NOT_FOUND for names it does not know; use \"\"", *s)
	}
	if c.LivenessProbe == nil {
		x.fail(where, "no livenessProbe")
	} else if c.LivenessProbe.GRPC != nil {
		x.fail(where, "livenessProbe must not use grpc.health.v1: it is NOT_SERVING during Kafka outages and would restart healthy pods")
	}
	if c.StartupProbe == nil {
		x.fail(where, "no startupProbe")
	}
	grace := int64(30)
	if spec.TerminationGracePeriodSeconds != nil {
		grace = *spec.TerminationGracePeriodSeconds
	}
	preStop := int64(0)
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		x.fail(where, "no preStop hook: endpoints may still route to the pod while it drains")
	} else if ps := c.Lifecycle.PreStop; ps.Sleep != nil {
		preStop = ps.Sleep.Seconds
	} else if ps.Exec != nil && len(ps.Exec.Command) == 2 && ps.Exec.Command[0] == "sleep" {
		preStop, _ = strconv.ParseInt(ps.Exec.Command[1], 10, 64)
	}
	drain, err := parseDuration(valueOr(values["drain-timeout"], "20s"))
	if err == nil {
		// SPEC §3.4: exit within 25 s of SIGTERM whatever the drain timeout; more if it is longer.
		need := preStop + max(25, int64(drain.Seconds())+5)
		if grace < 30 || grace < need {
			x.fail(where, "terminationGracePeriodSeconds %d < %d (preStop %d s + drain %s + margin, at least 30)", grace, need, preStop, drain)
		}
	}
	if isTrue(spec.EnableServiceLinks) || spec.EnableServiceLinks == nil {
		x.fail(where, "enableServiceLinks must be false: Services named prm-* would inject PRM_* variables the binary rejects")
	}
	if len(spec.TopologySpreadConstraints) == 0 {
		x.fail(where, "no topologySpreadConstraints")
	}
	// 5. its Service, PodDisruptionBudget and scraping
	hasSvc := false
	for _, s := range x.services {
		if selectorMatches(&metav1.LabelSelector{MatchLabels: s.Spec.Selector}, d.Spec.Template.Labels) {
			hasSvc = true
			names := map[string]bool{}
			for _, p := range s.Spec.Ports {
				names[p.Name] = true
			}
			for _, want := range []string{"grpc", "metrics"} {
				if !names[want] {
					x.fail("Service/"+s.Name, "no port named %s", want)
				}
			}
		}
	}
	if !hasSvc {
		x.fail(where, "no Service selects it")
	}
	hasPDB := false
	for _, p := range x.pdbs {
		hasPDB = hasPDB || selectorMatches(p.Spec.Selector, d.Spec.Template.Labels)
	}
	if !hasPDB {
		x.fail(where, "no PodDisruptionBudget selects it")
	}
	a := d.Spec.Template.Annotations
	if a["prometheus.io/scrape"] != "true" && len(x.monitors) == 0 {
		x.fail(where, "not scraped: no prometheus.io/scrape annotation and no ServiceMonitor")
	}
	if p := a["prometheus.io/port"]; p != "" && metricsPort != nil && p != strconv.Itoa(int(metricsPort.ContainerPort)) {
		x.fail(where, "annotation prometheus.io/port=%s is not the metrics port %d", p, metricsPort.ContainerPort)
	}
	x.topicSettings = append(x.topicSettings, topicUse{where, values})
}

type topicUse struct {
	where  string
	values map[string]string
}

// checkTopics: every topic a service uses is created by the topic Job (from deploy/topics.txt).
func (x *index) checkTopics() {
	cm := x.configMaps["prm-kafka-topics"]
	if cm == nil {
		for name := range x.configMaps {
			if strings.HasPrefix(name, "prm-kafka-topics-") && hasKey(x.configMaps[name], "topics.txt") {
				cm = x.configMaps[name]
			}
		}
	}
	if len(x.deployments) > 0 && len(x.jobs) == 0 {
		x.fail("Job", "no Job creates the Kafka topics")
	}
	if cm == nil {
		x.fail("ConfigMap/prm-kafka-topics", "missing (generated from deploy/topics.txt)")
		return
	}
	topics := map[string]bool{}
	for _, line := range strings.Split(cm.Data["topics.txt"], "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) < 2 {
			x.fail("ConfigMap/"+cm.Name, "topics.txt line %q has no partition count", line)
			continue
		}
		if n, err := strconv.Atoi(f[1]); err != nil || n < 1 {
			x.fail("ConfigMap/"+cm.Name, "topics.txt line %q: bad partition count", line)
		}
		topics[f[0]] = true
	}
	defaults := map[string]string{"topic-sales": "prm.sales.v1", "topic-partner": "prm.partner.v1",
		"topic-deal": "prm.deal.v1", "topic-routing": "prm.routing.v1", "topic-forecast": "prm.forecast.v1"}
	for _, u := range x.topicSettings {
		for _, k := range sortedKeys(defaults) {
			t := valueOr(u.values[k], defaults[k])
			if !topics[t] {
				x.fail(u.where, "--%s=%s is not in deploy/topics.txt, so the topic Job does not create it", k, t)
			}
		}
	}
}

func mountPathOf(c *corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

func listenPort(addr string) int32 {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return -1
	}
	return int32(n)
}

func hasKey(cm *corev1.ConfigMap, k string) bool {
	_, a := cm.Data[k]
	_, b := cm.BinaryData[k]
	return a || b
}

func isTrue(b *bool) bool { return b != nil && *b }

func valueOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
