# Manual pages: the plugin and its options (slurm-vm.8), the site config
# (vm.conf.5), the admin command (slurm-vm.1), the prolog and epilog
# (slurm-vm-prolog.8).
dist_man_MANS += man/slurm-vm.1 man/slurm-vm.8 man/slurm-vm-prolog.8 man/vm.conf.5
