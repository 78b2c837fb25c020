print("bankctl")
