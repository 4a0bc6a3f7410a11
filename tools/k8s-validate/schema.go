package main

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The API groups PRM's manifests may use. An object of any other kind fails: add its group here
// (from k8s.io/api or the operator's own Go API module) rather than skipping it.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, rbacv1.AddToScheme, autoscalingv2.AddToScheme,
		monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strictDecoder rejects unknown and duplicate fields and values of the wrong type.
var strictDecoder = json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
	json.SerializerOptions{Yaml: false, Pretty: false, Strict: true})

func render(dir string) (resmap.ResMap, error) {
	opts := krusty.MakeDefaultOptions() // LoadRestrictionsRootOnly, as `kubectl apply -k`
	return krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
}

func renderYAML(dir string) ([]byte, error) {
	m, err := render(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: kustomize: %v", dir, err)
	}
	return m.AsYaml()
}

// decodeStrict turns one rendered object (JSON) into its typed k8s.io/api struct.
func decodeStrict(data []byte) (runtime.Object, *schema.GroupVersionKind, error) {
	obj, gvk, err := strictDecoder.Decode(data, nil, nil)
	if err != nil {
		return nil, gvk, err
	}
	return obj, gvk, nil
}
