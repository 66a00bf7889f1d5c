dist_man_MANS += man/slurm-vm.8 man/vm.conf.5
